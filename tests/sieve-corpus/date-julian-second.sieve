require ["date", "fileinto"];
if date :originalzone "date" "julian" "61377" { fileinto "Julian"; }
if date :originalzone "date" "second" "00" { fileinto "Second"; }
if date :originalzone "date" "std11" "Thu, 03 Dec 2026 14:30:00 -0500" { fileinto "Std11"; }
