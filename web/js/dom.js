// js/dom.js
