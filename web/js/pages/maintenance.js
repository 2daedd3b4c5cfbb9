// js/pages/maintenance.js
