// js/api.js
