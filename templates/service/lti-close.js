// LTI Dynamic Registration: tell the LMS's page that opened or framed this one that the
// registration is over, so that it closes the dialog (the message the spec names).
(window.opener || window.parent).postMessage({subject: "org.imsglobal.lti.close"}, "*");
