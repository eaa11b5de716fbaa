// The dashboard page: login, then the fleet view (#/), one runtime's view (#/plc/<ID>), the
// router's audit journal (#/audit) or, with a registry on the realm, the alarm list (#/alarms).

import { AlarmsView } from "./alarms_view.js";
import { defaultWebSocketUrl, openSession } from "./connection.js";
import { Fleet } from "./fleet.js";
import { BulkControl } from "./fleet_bulk.js";
import { FleetView } from "./fleet_view.js";
import { JournalView } from "./journal_view.js";
import { showGaps } from "./gaps_list.js";
import { PlcView } from "./plc_view.js";
import { Registry } from "./registry.js";
import { RolloutsPanel } from "./rollouts_panel.js";
import { zoneLabel } from "./timefmt.js";

const $ = (id) => document.getElementById(id);
// Roles that may start, stop, repair and force (architecture.md, "Roles"); the router enforces
// it whatever the page shows.
const CONTROL_ROLES = ["ide", "operator", "engineer", "admin"];

const VIEWS = ["login-view", "fleet-view", "alarms-view", "journal-view", "plc-view"];
const NOBODY = { link: null, session: null, fleet: null, fleetView: null, plcView: null, registry: null, alarmsView: null, rolloutsPanel: null };
const state = { ...NOBODY, canControl: false };
const journal = new JournalView({
  form: $("journal-form"), tbody: $("journal-table").querySelector("tbody"),
  message: $("journal-message"), older: $("journal-older"), newer: $("journal-newer"),
});

function show(view) {
  for (const id of VIEWS) $(id).hidden = id !== view;
}

function connectionState(text, lost = false) {
  $("connection-state").textContent = text;
  $("connection-state").classList.toggle("lost", lost);
}

function route() {
  if (!state.session) return;
  const match = /^#\/plc\/(.+)$/.exec(location.hash);
  const plcId = match ? decodeURIComponent(match[1]) : null;
  if (state.plcView && state.plcView.plcId !== plcId) {
    state.plcView.detach();
    state.plcView = null;
  }
  if (location.hash === "#/audit") {
    show("journal-view");
    journal.load(null);
    return;
  }
  if (plcId === null) {
    const alarms = location.hash === "#/alarms" && state.registry.available;
    show(alarms ? "alarms-view" : "fleet-view");
    // asked each time the view opens: a registry that just came back has a new gap
    if (alarms) showGaps(state.registry, $("gaps-list"), $("gaps-summary"));
    return;
  }
  show("plc-view");
  if (!state.plcView) {
    state.plcView = new PlcView(plcId, state.fleet, state.registry, state.canControl, state.alarmsView);
    state.plcView.attach(state.session);
  }
}

// The fleet's memory joins or leaves: its rows feed the fleet, its alarms the alarm list.
function startRegistry() {
  const registry = new Registry();
  state.registry = registry;
  state.fleet.addEventListener("registration", ({ detail }) => registry.registrationChanged(detail.uri, detail.created));
  registry.addEventListener("runtime", ({ detail }) => state.fleet.remembered(detail));
  state.rolloutsPanel = new RolloutsPanel(registry, $("rollouts-card"), $("rollouts-list"));
  registry.addEventListener("alarm", () => state.fleetView.schedule());   // its severity order
  state.alarmsView = new AlarmsView(registry, {
    tbody: $("alarms-table").querySelector("tbody"), shelvedBody: $("shelved-table").querySelector("tbody"),
    activeOnly: $("alarms-active"), priority: $("alarms-priority"), shelveFor: $("alarms-shelve-for"),
    ackAll: $("alarms-ack-all"), flood: $("alarms-flood"),
    summary: $("alarms-summary"), message: $("alarms-message"), badge: $("alarm-badge"),
  }, state.canControl);
  registry.addEventListener("availability", ({ detail: available }) => {
    $("nav").hidden = !available;
    if (available) state.alarmsView.load().then(() => state.fleetView.schedule());
    route();
  });
}

function joined(session, details) {
  const firstJoin = !state.session;
  state.session = session;
  state.canControl = CONTROL_ROLES.includes(details.authrole);
  connectionState("Connected");
  $("who").textContent = `${details.authid || "anonymous"} (${details.authrole})`;
  $("logout").hidden = false;
  $("journal-link").hidden = false;
  if (firstJoin) {
    state.fleet = new Fleet();
    state.fleetView = new FleetView(state.fleet, $("fleet-table").querySelector("tbody"), $("fleet-summary"),
      $("fleet-filter"), { sort: $("fleet-sort"), status: $("fleet-status") },
      (id) => (state.alarmsView ? state.alarmsView.activeCount(id) : 0),
      new BulkControl({ bar: $("fleet-bulk"), start: $("fleet-bulk-start"), stop: $("fleet-bulk-stop"), message: $("fleet-bulk-message") },
        () => state.session, state.canControl, () => state.fleetView.schedule()));
    startRegistry();
  }
  state.fleet.attach(session).catch((error) => console.error("fleet discovery failed", error));
  state.registry.attach(session)
    // after a reconnect, alarms raised or acknowledged meanwhile
    .then(() => { if (!firstJoin && state.registry.available) state.alarmsView.load(); })
    .catch((error) => console.error("registry discovery failed", error));
  if (state.plcView) state.plcView.attach(session);
  journal.attach(session);
  route();
}

function logout(message = "") {
  if (state.plcView) state.plcView.detach();
  if (state.fleet) state.fleet.detach();
  if (state.fleetView) state.fleetView.destroy();
  if (state.alarmsView) state.alarmsView.destroy();
  if (state.rolloutsPanel) state.rolloutsPanel.destroy();
  if (state.registry) state.registry.detach();
  if (state.link) state.link.close();
  Object.assign(state, NOBODY);
  $("fleet-table").querySelector("tbody").replaceChildren();
  $("alarms-table").querySelector("tbody").replaceChildren();
  $("shelved-table").querySelector("tbody").replaceChildren();
  $("nav").hidden = true;
  $("who").textContent = "";
  $("logout").hidden = true;
  $("journal-link").hidden = true;
  $("journal-table").querySelector("tbody").replaceChildren();
  journal.attach(null);
  connectionState("");
  $("login-error").textContent = message;
  show("login-view");
}

function login(event) {
  event.preventDefault();
  const form = new FormData($("login-form"));
  if (!form.get("user")) {
    // a web page is never admitted anonymously (docs/security.md)
    $("login-error").textContent = "Enter a user and its ticket or secret.";
    return;
  }
  $("login-error").textContent = "";
  connectionState("Connecting…");
  state.link = openSession({
    url: form.get("url"), realm: form.get("realm"), user: form.get("user"),
    secret: form.get("secret"), method: form.get("method"),
  }, {
    onJoin: joined,
    onLost: (reason) => connectionState(`Connection lost (${reason}), reconnecting…`, true),
    onRefused: (message) => logout(`Login refused: ${message}`),
  });
}

function start() {
  $("login-url").value = defaultWebSocketUrl();
  if (typeof autobahn === "undefined" || typeof uPlot === "undefined") {
    $("login-error").textContent = "The dashboard's libraries are missing on the router: run scripts/setup-dashboard.sh.";
    $("login-form").querySelector("button[type=submit]").disabled = true;
  }
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout());
  window.addEventListener("hashchange", route);
  show("login-view");
}

start();

// Every time on the page is in the browser's zone: said once in the top bar and where times are listed.
for (const element of document.querySelectorAll(".time-zone")) element.textContent = zoneLabel();
