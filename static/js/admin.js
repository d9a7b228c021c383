// Admin pages: "select all" for bulk actions, and copy buttons. No inline scripts (CSP).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      box.closest("form").querySelectorAll('input[name="ids"]').forEach((row) => { row.checked = box.checked; });
    });
  });
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", () => {
      const field = document.querySelector(button.dataset.copy);
      if (field && navigator.clipboard) { navigator.clipboard.writeText(field.value); button.textContent = "Copied"; }
    });
  });
});
