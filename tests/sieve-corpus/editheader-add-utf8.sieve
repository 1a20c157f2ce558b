require ["editheader", "fileinto"];
addheader "X-Note" "Grüße aus München";
if header :is "x-note" "Grüße aus München" { fileinto "Decoded"; }
