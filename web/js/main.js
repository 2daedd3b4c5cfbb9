// js/main.js
