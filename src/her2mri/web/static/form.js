// Show only the descriptors that apply to the chosen lesion type (BI-RADS: mass vs non-mass enhancement).
(function () {
  "use strict";
  var select = document.querySelector('select[name="lesion_type"]');
  function update() {
    var type = select ? select.value : "";
    var hideMass = type === "nme";
    var hideNme = type === "mass" || type === "focus";
    document.querySelectorAll("[data-applies-to]").forEach(function (el) {
      var kind = el.getAttribute("data-applies-to");
      var hide = (kind === "mass" && hideMass) || (kind === "nme" && hideNme);
      el.hidden = hide;
      el.querySelectorAll("input, select").forEach(function (c) { c.disabled = hide; });
    });
  }
  if (select) {
    select.addEventListener("change", update);
    update();
  }
})();
