// js/pages/settings.js
