// js/drawer.js
