// js/pages/events.js
