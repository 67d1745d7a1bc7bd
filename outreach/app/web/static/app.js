// Opspor web app: the little script there is. Pages work without it.
document.addEventListener("DOMContentLoaded", () => {
  // The opt-out box only makes sense with "declined": keep it off otherwise.
  const form = document.querySelector("form.record");
  if (!form) return;
  const optOut = form.querySelector("input[name=opt_out]");
  const sync = () => {
    const chosen = form.querySelector("input[name=outcome]:checked");
    const declined = chosen !== null && chosen.value === "declined";
    optOut.disabled = !declined;
    if (!declined) optOut.checked = false;
  };
  form.querySelectorAll("input[name=outcome]").forEach((radio) => radio.addEventListener("change", sync));
  sync();
});
