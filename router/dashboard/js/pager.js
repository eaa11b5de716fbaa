// A long list shown a page at a time, so a runtime's page stays about one screen tall: "Newer"
// and "Older" under the table, and which rows are shown.

import { button } from "./dom.js";

export class Pager {
  constructor(table, size, what) {
    this.tbody = table.querySelector("tbody");
    this.size = size;
    this.what = what;
    this.page = 0;
    this.rows = [];
    this.nav = document.createElement("p");
    this.nav.className = "pager";
    this.newer = button("Newer", `Newer ${what}`, () => this.go(-1));
    this.older = button("Older", `Older ${what}`, () => this.go(1));
    this.where = document.createElement("span");
    this.where.className = "note";
    this.nav.append(this.newer, " ", this.where, " ", this.older);
    (table.closest(".scroll") || table).after(this.nav);
  }

  // New rows (elements, newest first): the page shown stays where it was when it still exists.
  show(rows) {
    this.rows = rows;
    this.page = Math.min(this.page, Math.max(0, Math.ceil(rows.length / this.size) - 1));
    this.render();
  }

  go(step) {
    this.page += step;
    this.render();
  }

  render() {
    const first = this.page * this.size;
    this.tbody.replaceChildren(...this.rows.slice(first, first + this.size));
    this.nav.hidden = this.rows.length <= this.size;
    this.newer.disabled = this.page === 0;
    this.older.disabled = first + this.size >= this.rows.length;
    this.where.textContent = `${first + 1}–${Math.min(first + this.size, this.rows.length)} of ${this.rows.length} ${this.what}`;
  }
}
