require ["date", "fileinto"];
if date :originalzone "date" "zone" "+0200" { fileinto "Zone"; }
if date :zone "+0000" "date" "hour" "12" { fileinto "UTC12"; }
