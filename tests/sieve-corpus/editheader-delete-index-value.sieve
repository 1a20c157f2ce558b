require ["editheader", "index"];
deleteheader :index 1 :last "received";
deleteheader :contains "x-spam-status" "score";
