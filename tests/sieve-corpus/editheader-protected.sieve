require "editheader";
deleteheader "received";
addheader "Received" "fake";
