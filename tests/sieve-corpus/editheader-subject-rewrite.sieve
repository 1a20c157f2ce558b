require ["editheader", "variables", "fileinto"];
if header :matches "subject" "*" { set "s" "${1}"; }
deleteheader "subject";
addheader "Subject" "[SPAM] ${s}";
if header :is "subject" "[SPAM] You won!!!" { fileinto "Rewritten"; }
