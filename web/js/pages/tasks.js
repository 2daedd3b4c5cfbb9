// js/pages/tasks.js
