require ["variables", "fileinto"];
if header :matches "subject" "*report" { set "a" "${1}"; }
if header :matches "subject" "nomatch*" { fileinto "Wrong"; }
fileinto "K/${1}/${a}";
