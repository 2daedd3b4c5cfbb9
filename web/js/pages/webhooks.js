// js/pages/webhooks.js
