require ["date", "fileinto"];
if date :originalzone "date" "zone" "+0000" { fileinto "GMT"; }
if date :zone "+0100" "date" "hour" "15" { fileinto "Plus1"; }
