// Cadenza's page enhancements. Every page works without JavaScript; this module
// only makes things smoother. Our own code, no third-party libraries.
import { enhanceAvatarUpload } from "./avatar-upload.js";
import { enhanceLanguageSwitch } from "./lang-switch.js";

document.documentElement.classList.add("js");
enhanceLanguageSwitch(document);
enhanceAvatarUpload(document);
