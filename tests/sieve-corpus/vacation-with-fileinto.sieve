require ["vacation", "fileinto"];
vacation "Away.";
fileinto "Read-later";
