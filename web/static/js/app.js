// Cadenza's page enhancements. Every page works without JavaScript; this module
// only makes things smoother. Our own code, no third-party libraries.
//
// A page loads only the modules it has a use for (a phone on a museum's network
// fetches the vote's script, not the judge's player), all at once after this one;
// the page's import map gives each its versioned address. When every module has run,
// the mark `cadenza:ready` is set: from then on the page's buttons work.
import { enhanceLanguageSwitch } from "./lang-switch.js";

const MODULES = [
  ["[data-image-upload]", "./image-upload.js", "enhanceImageUploads"],
  ["[data-audio-upload], [data-entry][data-in-progress]", "./entry-upload.js", "enhanceEntryUpload"],
  ["[data-countdown]", "./countdown.js", "startCountdowns"],
  ["#report-data", "./report-chart.js", "drawReport"],
  ["#player-data, [data-judge-audio]", "./judge-player.js", "enhanceJudgePlayer"],
  ["[data-vote-page]", "./vote.js", "enhanceVoting"],
  ["[data-leaderboard]", "./leaderboard.js", "enhanceLeaderboard"],
  ["[data-show]", "./show.js", "enhanceShow"],
  ["[data-comments]", "./song-comments.js", "enhanceSongComments"],
  ["[data-album-player]", "./album.js", "enhanceAlbum"],
  ["[data-play-button], [data-print]", "./exhibition.js", "enhanceExhibition"],
  ["[data-select-all]", "./select-all.js", "enhanceSelectAll"],
  ["[data-edit-competition]", "./competition-editor.js", "enhanceCompetitionEditor"],
  ["[data-add-row], [data-weight-total]", "./form-rows.js", "enhanceFormRows"],
];

document.documentElement.classList.add("js");
enhanceLanguageSwitch(document);
const wanted = MODULES.filter(([selector]) => document.querySelector(selector));
await Promise.all(
  wanted.map(async ([, path, name]) => {
    try {
      (await import(path))[name](document);
    } catch (e) {
      // One module failing leaves the others (and the page without it) working.
      console.error(`${path}: ${e.message}`);
    }
  }),
);
// Where the reader's attention belongs after the page came back: a form sent back
// with an error puts its message in focus (so it is read out, and the next Tab goes
// into the form); a page our script reloaded may name what it reloaded for (the
// report, once the analysis is done).
const reloadedFor = sessionStorage.getItem("cadenza:focus");
sessionStorage.removeItem("cadenza:focus");
const focus =
  document.querySelector("[data-focus-on-load]") ||
  document.querySelector('[role="alert"][data-error]') ||
  (reloadedFor && document.querySelector(reloadedFor));
if (focus) {
  if (focus.tabIndex < 0 && !focus.hasAttribute("tabindex")) focus.tabIndex = -1;
  focus.focus();
}
performance.mark("cadenza:ready");
