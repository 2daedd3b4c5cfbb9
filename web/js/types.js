// js/types.js
