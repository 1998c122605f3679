// Cadenza's page enhancements. Every page works without JavaScript; this module
// only makes things smoother. Our own code, no third-party libraries.
import { enhanceCompetitionEditor } from "./competition-editor.js";
import { startCountdowns } from "./countdown.js";
import { enhanceEntryUpload } from "./entry-upload.js";
import { enhanceFormRows } from "./form-rows.js";
import { enhanceExhibition } from "./exhibition.js";
import { enhanceImageUploads } from "./image-upload.js";
import { enhanceJudgePlayer } from "./judge-player.js";
import { enhanceLanguageSwitch } from "./lang-switch.js";
import { enhanceLeaderboard } from "./leaderboard.js";
import { drawReport } from "./report-chart.js";
import { enhanceSelectAll } from "./select-all.js";
import { enhanceVoting } from "./vote.js";

document.documentElement.classList.add("js");
enhanceLanguageSwitch(document);
enhanceImageUploads(document);
enhanceEntryUpload(document);
startCountdowns(document);
drawReport(document);
enhanceJudgePlayer(document);
enhanceVoting(document);
enhanceLeaderboard(document);
enhanceExhibition(document);
enhanceSelectAll(document);
enhanceCompetitionEditor(document);
enhanceFormRows(document);
// A form sent back with an error: its message gets the focus (and is read out).
document.querySelector("[data-focus-on-load]")?.focus();
