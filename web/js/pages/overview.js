// js/pages/overview.js
