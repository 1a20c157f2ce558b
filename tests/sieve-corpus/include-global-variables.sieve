require ["include", "variables", "fileinto"];
global "folder";
set "folder" "FromMain";
include "setvar";
fileinto "${folder}";
