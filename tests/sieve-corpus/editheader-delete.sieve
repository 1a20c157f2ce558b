require ["editheader", "fileinto"];
deleteheader "x-spam-score";
if not exists "x-spam-score" { fileinto "Gone"; }
