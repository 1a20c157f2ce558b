require ["date", "variables", "fileinto"];
if date :matches :zone "+0000" "date" "date" "*" { set "d" "${1}"; }
fileinto "Archive/${d}";
