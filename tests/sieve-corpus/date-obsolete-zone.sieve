require ["date", "fileinto"];
if date :originalzone "date" "zone" "-0500" { fileinto "EST"; }
if date :zone "+0000" "date" "hour" "19" { fileinto "UTC19"; }
