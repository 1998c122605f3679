// The live leaderboard: a Server-Sent Events stream replaces the table's rows whenever
// the counts change. Without JavaScript (or without EventSource) the page is a snapshot.
export function enhanceLeaderboard(root) {
  const board = root.querySelector("[data-leaderboard]");
  if (!board || !("EventSource" in window)) return;
  const body = board.querySelector("[data-board] tbody");
  const total = board.querySelector("[data-total]");
  const live = board.querySelector("[data-live]");
  const hidden = board.querySelector("[data-hidden-counts]");
  const source = new EventSource(board.dataset.stream);
  source.addEventListener("open", () => {
    if (live) live.hidden = false;
  });
  source.addEventListener("error", () => {
    if (live) live.hidden = true;
  });
  source.addEventListener("leaderboard", (event) => {
    const b = JSON.parse(event.data);
    const rows = new Map();
    for (const tr of body.querySelectorAll("tr[data-line]")) rows.set(tr.dataset.line, tr);
    for (const line of b.lines) {
      const tr = rows.get(line.entry_id);
      if (!tr) continue;
      tr.querySelector("[data-rank]").textContent = b.counts_visible ? String(line.rank) : "—";
      tr.querySelector("[data-votes]").textContent = b.counts_visible ? String(line.votes) : "—";
      body.appendChild(tr);
    }
    if (total) total.textContent = b.counts_visible ? String(b.total_votes) : "—";
    if (hidden) hidden.hidden = b.counts_visible;
    board.dataset.state = b.state;
    board.dataset.updates = String(Number(board.dataset.updates || 0) + 1);
  });
}
