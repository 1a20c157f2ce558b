require ["variables", "fileinto"];
set "x" "v";
fileinto "a${x}b${x";
