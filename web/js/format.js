// js/format.js
