require ["include", "fileinto"];
include :personal "lists";
fileinto "After";
