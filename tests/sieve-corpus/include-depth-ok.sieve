require ["include", "fileinto"];
include "a";
fileinto "Main";
