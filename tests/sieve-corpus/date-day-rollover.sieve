require ["date", "fileinto"];
if date :zone "+0000" "date" "date" "2026-12-05" { fileinto "PrevDay"; }
if date :originalzone "date" "time" "23:59:59" { fileinto "Time"; }
if date :zone "-1000" "date" "weekday" "6" { fileinto "Sat"; }
