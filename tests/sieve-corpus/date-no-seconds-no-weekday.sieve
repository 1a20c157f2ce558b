require ["date", "fileinto"];
if date :is "date" "second" "00" { fileinto "Sec00"; }
if date :is "date" "weekday" "4" { fileinto "Thu"; }
if date :is "date" "time" "14:30:00" { fileinto "Time"; }
