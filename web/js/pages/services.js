// js/pages/services.js
