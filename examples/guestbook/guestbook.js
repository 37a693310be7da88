// guestbook: the visitor's key lives in this browser (the SDK keeps it in
// localStorage); an entry is a POST the visitor signs, which the app keeps
// in its database within the visitor's guest quota on this node.
import { Leither, Key } from "/sdk/leither.js";

const l = new Leither();
const gb = l.app(); // this page's app: on its own origin, or under /tpt/APPID/
const appid = gb.id;
const $ = (id) => document.getElementById(id);

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function showWho() {
  const id = await l.id();
  $("signed-out").hidden = !!id;
  $("signed-in").hidden = !id;
  $("me").textContent = id || "";
  $("sign").disabled = !id;
}

async function refresh() {
  try {
    const { entries } = await gb.get("api/entries");
    $("entries").replaceChildren(...entries.map((e) => {
      const li = document.createElement("li");
      li.dataset.id = e.id;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = e.text;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = `${e.author} · ${new Date(e.time * 1000).toLocaleString()}`;
      li.append(text, meta);
      return li;
    }));
  } catch (e) {
    status(e.message, true);
  }
}

$("new-key").addEventListener("click", async () => {
  await l.signIn(await l.generateKey());
  await showWho();
});

$("key-file").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  try {
    await l.signIn(await Key.from(await file.text()));
    await showWho();
  } catch (e) {
    status(e.message, true);
  }
});

$("save-key").addEventListener("click", async () => {
  const key = await l.currentKey();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([key.toKeyFile()], { type: "application/json" }));
  a.download = `${key.id}.key`;
  a.click();
  URL.revokeObjectURL(a.href);
});

$("sign-out").addEventListener("click", async () => {
  l.signOut();
  await showWho();
});

$("entry-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("entry-text").value.trim();
  if (!text) return;
  try {
    status("Signing…");
    await gb.post("api/entries", { text });
    $("entry-text").value = "";
    status("Thank you!");
    await refresh();
  } catch (e) {
    status(e.message, true);
  }
});

showWho();
refresh();
