// One modal dialog for every confirmation: start, stop, repair, force (which also asks a value).

const dialog = () => document.getElementById("confirm-dialog");

// Resolves with the checked answer (true without a value field), or null when cancelled.
// check(text) may throw an Error whose message is shown, keeping the dialog open.
export function confirmAction({ title, text, okLabel = "OK", value = null, check = () => true, valueLabel = "Value" }) {
  const box = dialog();
  const form = box.querySelector("form");
  const input = box.querySelector("#confirm-value");
  const error = box.querySelector("#confirm-error");
  box.querySelector("#confirm-title").textContent = title;
  box.querySelector("#confirm-text").textContent = text;
  box.querySelector("#confirm-ok").textContent = okLabel;
  box.querySelector("#confirm-value-label").hidden = value === null;
  box.querySelector("#confirm-value-label").firstChild.textContent = `${valueLabel} `;
  input.value = value ?? "";
  error.textContent = "";
  return new Promise((resolve) => {
    let answer = null;
    const submit = (event) => {
      event.preventDefault();
      if (event.submitter && event.submitter.value === "cancel") {
        box.close();
        return;
      }
      try {
        answer = check(input.value);
        box.close();
      } catch (problem) {
        error.textContent = problem.message;
      }
    };
    form.addEventListener("submit", submit);
    box.addEventListener("close", () => {
      form.removeEventListener("submit", submit);
      resolve(answer);
    }, { once: true });
    box.showModal();
    if (value !== null) input.focus();
  });
}
