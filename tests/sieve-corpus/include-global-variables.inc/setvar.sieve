require ["include", "variables"];
global "folder";
set "folder" "${folder}-Inc";
