require ["include", "fileinto"];
include "stopper";
fileinto "Wrong";
