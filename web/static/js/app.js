// Cadenza's page enhancements. Every page works without JavaScript; this module
// only makes things smoother. Our own code, no third-party libraries.
import { startCountdowns } from "./countdown.js";
import { enhanceEntryUpload } from "./entry-upload.js";
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
