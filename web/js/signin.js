// js/signin.js
