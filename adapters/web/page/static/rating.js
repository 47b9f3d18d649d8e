// Kinerja Ledger: the live predikat of the rating form (progressive
// enhancement, on every form marked data-rating: the rating form, whose
// "Pratinjau" button does the same on the server, and the objection
// decision).
// It reads the matrix table the page renders from the domain's
// rating.Derive — no second copy of the matrix lives here.
(function () {
  "use strict";

  function update(form) {
    var out = document.getElementById("predikat-live");
    var table = document.getElementById("matrix");
    if (!out || !table) { return; }
    var wr = form.querySelector('input[name="work_result"]:checked');
    var bh = form.querySelector('input[name="behaviour"]:checked');
    table.querySelectorAll("td.current").forEach(function (td) { td.classList.remove("current"); });
    var cell = null;
    if (wr && bh) {
      table.querySelectorAll("td[data-wr][data-bh]").forEach(function (td) {
        if (td.dataset.wr === wr.value && td.dataset.bh === bh.value) { cell = td; }
      });
    }
    out.textContent = "";
    if (!cell) {
      out.textContent = out.dataset.none || "";
      out.dataset.predikat = "";
      return;
    }
    cell.classList.add("current");
    var strong = document.createElement("strong");
    strong.textContent = cell.textContent;
    out.appendChild(strong);
    out.dataset.predikat = cell.dataset.predikat;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-rating]").forEach(function (form) {
      form.addEventListener("change", function () { update(form); });
      update(form);
    });
  });
})();
