require ["body", "fileinto"];
if body :content "text/plain" :contains "shouting" { fileinto "CaseInsensitive"; }
