require ["include", "fileinto"];
include "ret";
fileinto "Main";
