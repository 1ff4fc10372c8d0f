// The shop: a bonus code checked in the promo box travels with the next pack bought on this page.
// (A file of its own: the Content-Security-Policy allows no inline script.)
document.addEventListener("submit", function (event) {
  var carrier = event.target.querySelector(".promo-code-carrier");
  var code = document.getElementById("promo-code");
  if (carrier && code) { carrier.value = code.value.trim(); }
});
