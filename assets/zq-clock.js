// window.zqClockOffset: the app's time minus the browser's, in ms, from the meta tag the server wrote as it served
// the page (dashboard/factory.py). Read as the page loads, so the error is the response's transit, not a guess.
(function () {
  var meta = document.querySelector('meta[name="zq-clock-ms"]');
  window.zqClockOffset = meta ? Number(meta.getAttribute('content')) - Date.now() : 0;
})();
