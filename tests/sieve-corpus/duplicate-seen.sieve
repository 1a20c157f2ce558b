require ["duplicate", "fileinto"];
if duplicate :header "message-id" { discard; }
