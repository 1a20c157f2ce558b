require ["index", "date", "fileinto"];
if date :index 1 :last :zone "+0000" "received" "hour" "19" { fileinto "LastHop19"; }
